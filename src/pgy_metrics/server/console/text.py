"""The console's own words in English and Chinese (the docs pages' convention: one dictionary
per language, the same keys in both; ``tests/unit/test_console.py`` checks they match)."""

from __future__ import annotations

from typing import Final

LANGUAGES: Final = ("en", "zh")

TEXT: Final[dict[str, dict[str, str]]] = {
    "en": {
        "site": "pgy-metrics console",
        "language": "中文",
        "nav_creator": "Creator",
        "nav_usage": "Usage",
        "nav_status": "Status",
        "nav_tokens": "Tokens",
        "sign_in": "Sign in",
        "sign_out": "Sign out",
        "signed_in_as": "Signed in as",
        "admin": "admin",
        "holder": "holder",
        "token_label": "API token",
        "token_help": (
            "Your API token (pgy_...). It is checked once and never stored, shown or logged; "
            "the console keeps a session cookie instead."
        ),
        "sign_in_title": "Sign in to the console",
        "sign_in_failed": "The token is unknown or revoked. Check it or ask your operator.",
        "sign_in_limited": (
            "Too many sign-ins with an unknown token from this address; retry in {seconds} s."
        ),
        "sign_in_missing": "Paste your API token to sign in.",
        "signed_out": "You are signed out.",
        "expired": "Your session has ended (signed out or expired). Sign in again.",
        "home_title": "Console",
        "home_intro": (
            "Look up a creator, benchmark a pool of creators, plan a campaign, see your usage "
            "and balance, and the service's status. Watchlists arrive in a later release."
        ),
        "creator_title": "Creator",
        "creator_ref": "Creator id or Pugongying profile URL",
        "creator_ref_help": (
            "24 hex characters, or a URL such as https://pgy.xiaohongshu.com/solar/pre-trade/"
            "blogger-detail/<id> or https://www.xiaohongshu.com/user/profile/<id>."
        ),
        "look_up": "Look up",
        "quote_title": "Before fetching: what it costs",
        "quote_intro": (
            "Looking up {user_id} makes {calls} calls: {fresh} fetched anew and {cached} "
            "answered from data already collected, each priced as the API prices it."
        ),
        "quote_total": "Total: at most {total} credits",
        "quote_balance": "Your balance: {balance} credits.",
        "quote_unmetered": "Your token is not metered: calls are counted, not paid from a balance.",
        "quote_refused": "Not allowed by your token's plan (skipped): {endpoints}.",
        "quote_endpoint": "Endpoint",
        "quote_calls": "Calls",
        "quote_cached": "Cached",
        "quote_price": "Credits",
        "confirm": "Fetch and pay {total} credits",
        "confirm_free": "Fetch (no charge)",
        "fetching": "Fetching…",
        "quote_changed": (
            "The price went up since you confirmed ({then} → {now} credits). Confirm again."
        ),
        "charged": "Charged {credits} credits for this look-up.",
        "scopes_title": "Figures per scope",
        "scope_failed": "Not answered",
        "field": "Field",
        "value": "Value",
        "collected": "Collected",
        "indicators_title": "Indicators",
        "indicators_pool": (
            "Percentile among the {size} creators looked up with this token (the pool), "
            "this one included."
        ),
        "indicator": "Indicator",
        "percentile": "Percentile",
        "no_analytics": (
            "Indicators need the analytics extra: pip install 'pgy-metrics[analytics]'."
        ),
        "no_indicator_data": "No notes-rate figures were answered, so there are no indicators.",
        "benchmark_failed": "The indicators could not be computed (see the server log).",
        "flags_title": "Risk flags",
        "no_flags": "No risk flag.",
        "flag": "Flag",
        "scope": "Scope",
        "evidence": "Evidence",
        "severity": "Severity",
        "profile_title": "Profile and prices",
        "audience_title": "Audience",
        "data_summary_title": "Data summary",
        "fans_summary_title": "Fans summary",
        "not_answered": "Not answered: {message}",
        "history_title": "History of the headline scope",
        "history_empty": (
            "One collection so far: the history series grows as this creator is looked up again "
            "after the data's freshness window."
        ),
        "usage_title": "Usage",
        "balance_title": "Balance and limits",
        "balance": "Balance",
        "unmetered": "unmetered",
        "daily_quota": "Daily quota",
        "none": "none",
        "calls_today": "Calls today",
        "credits_today": "Credits today",
        "remaining_today": "Remaining today",
        "rate_limit": "Rate limit",
        "endpoints": "Endpoints",
        "all": "all",
        "by_day": "Calls and spend by day",
        "day": "Day",
        "calls": "Calls",
        "credits": "Credits",
        "in_flight": "In flight",
        "no_usage": "No calls yet.",
        "token": "Token",
        "status_title": "Status",
        "health_title": "Upstream health (last {minutes} minutes)",
        "subject": "Subject",
        "label": "Label",
        "success": "Success",
        "ok": "OK",
        "failed": "Failed",
        "since": "Since",
        "no_health": "No upstream call in the window yet.",
        "accounts_title": "Upstream accounts",
        "account": "Account",
        "source": "Source",
        "state": "State",
        "reason": "Reason",
        "cooling_until": "Cooling until",
        "no_accounts": "The configured sources have no accounts.",
        "tokens_title": "Tokens",
        "name": "Name",
        "active": "Active",
        "created": "Created",
        "jobs_title": "Collection jobs",
        "jobs_inline": "Collection is inline (no queue, no jobs).",
        "refused_title": "Refused",
        "form_malformed": (
            "The form could not be read (it is not a form this page sent). Reload the page and "
            "try again."
        ),
        "csrf_refused": (
            "This form was not sent from this console's page (its security token is missing or "
            "wrong). Reload the page and send it again."
        ),
        "admin_only": "This page is for admin tokens only.",
        "not_found": "There is no such page.",
        "yes": "yes",
        "no": "no",
        "back": "Back to the console",
        "nav_pools": "Pools",
        "pools_title": "Pools",
        "pools_intro": (
            "Upload a CSV, XLSX or text list of creators (ids or Pugongying profile URLs, the "
            "same files pgy batch reads), see what fetching them costs, then benchmark them."
        ),
        "pools_yours": "Your pools",
        "pools_none": "No pool yet.",
        "pools_back": "All pools",
        "pool_name": "Pool name",
        "pool_file": "Creator list (CSV, XLSX or text)",
        "pool_file_help": (
            "Up to {kib} KiB. CSV/XLSX: a header naming the id column (userId, user_id, 博主ID, "
            "url, ...). Bad rows are listed with their line numbers; the others are kept."
        ),
        "pool_upload": "Upload",
        "pool_no_file": "Choose a file to upload.",
        "pool_empty": "The file names no valid creator.",
        "pool_too_large": "The upload is larger than {kib} KiB. Split the list into several pools.",
        "pool_members": "Creators",
        "pool_state": "State",
        "pool_created": "Created",
        "pool_owner": "Token",
        "pool_state_new": "Not fetched yet",
        "pool_state_fetching": "Fetching",
        "pool_state_done": "Fetched",
        "pool_state_interrupted": "Interrupted",
        "pool_progress": "{done} fetched, {failed} failed, {remaining} remaining of {size}",
        "pool_progress_label": "Fetch progress",
        "pool_problems": "Rows not used",
        "pool_line": "Line",
        "pool_text": "Text",
        "pool_reason": "Why",
        "pool_creator": "Creator",
        "pool_failed": "Creators that failed",
        "pool_interrupted": (
            "The fetch stopped before it finished (the server restarted). Resume it: creators "
            "already fetched are not paid again."
        ),
        "pool_resume": "Resume and pay at most {total} credits",
        "pool_quote_intro": (
            "Fetching {members} creators makes {calls} calls (8 notes-rate scopes and the "
            "profile with prices each): {fresh} fetched anew and {cached} answered from data "
            "already collected, each priced as the API prices it."
        ),
        "pool_plan": "Plan a campaign",
        "pool_watch": "Watch these creators",
        "pool_benchmark": "Benchmark",
        "pool_download_xlsx": "Download the XLSX report",
        "pool_download_html": "Download the HTML report",
        "pool_tier": "Tier",
        "pool_all_tiers": "All tiers",
        "pool_filter": "Creator or content tag contains",
        "pool_apply": "Filter",
        "pool_shown": "{shown} of {total} creators shown.",
        "pool_charts": "Charts",
        "pool_chart_quadrant": "Quadrant: reach against engagement",
        "pool_chart_heatmap": "Heat map: read median per scope",
        "pool_no_data": (
            "Nothing fetched yet: the table and charts appear once creators are fetched."
        ),
        "pool_no_report": "This pool has no fetched creator yet, so there is no report.",
        "pool_choose": "Percentile in",
        "pool_default": "Creators looked up with this token",
        "indicators_chosen_pool": (
            "Percentile among the {size} creators of the pool {name} with stored data "
            "(this creator included)."
        ),
        # plans (plans.py)
        "nav_plans": "Plans",
        "plans_title": "Plan a campaign",
        "plans_intro": (
            "Choose creators and formats that maximise the objective within the budget and "
            "rules, from the data you have already paid for (look creators up first on the "
            "Creator page). Nothing is fetched or charged here."
        ),
        "plan_creators": "Creators",
        "plan_creators_help": (
            "Creator ids or Pugongying profile URLs, one per line (at most {max} creators)."
        ),
        "plan_file": "Or a candidates file (CSV or XLSX)",
        "plan_file_help": (
            "The file of pgy plan: user_id, price_photo, price_video, followers, tier, "
            "content_tag. Its prices win over the creator profile's."
        ),
        "plan_budget": "Budget",
        "plan_objective": "Objective",
        "plan_rules_title": "Rules",
        "plan_rules_help": "Common rules here; any other rule in the TOML field below.",
        "plan_tier": "Tier",
        "plan_tier_min": "Tier spend share, min",
        "plan_tier_max": "Tier spend share, max",
        "plan_min_video_share": "Video share of spend, min (0-1)",
        "plan_max_per_any_tag": "Creators per content tag, max",
        "plan_max_creator_budget_share": "Budget share per creator, max (0-1]",
        "plan_exclude_flags": "Exclude creators with these risk flags",
        "plan_audience_gender": "Audience gender",
        "plan_audience_gender_min": "Audience gender share, min (0-1)",
        "plan_any": "(any)",
        "plan_rules_toml": "Rules (TOML, the syntax of rules.toml)",
        "plan_rules_toml_help": (
            "For example: max_per_any_tag = 3, or [max_per_tag] with beauty = 2. See "
            "docs/planner.md."
        ),
        "plan_submit": "Plan",
        "plan_planning": "Planning…",
        "plan_missing_title": "Fetch first: creators without data",
        "plan_missing_notes": "no notes-rate data paid for by this token",
        "plan_missing_prices": "no price: no creator profile paid for and none in the file",
        "plan_fetch_first": "Look up",
        "plan_problems_title": "Rows of the file that were skipped",
        "plan_nothing": "None of these creators has data yet: look them up first.",
        "plan_infeasible_title": "No plan fits",
        "plan_result_title": "The plan",
        "plan_totals": (
            "{creators} creators, spend {spend} of {budget}; expected {objective}: {value}."
        ),
        "plan_proven": "Proven optimal.",
        "plan_not_proven": "Not proven optimal within the time limit ({status}).",
        "plan_synthetic": "Synthetic data (sandbox source): not real creators.",
        "plan_col_creator": "Creator",
        "plan_col_format": "Format",
        "plan_col_tier": "Tier",
        "plan_col_tag": "Content tag",
        "plan_col_price": "Price",
        "plan_col_value": "Expected",
        "plan_col_robust": "Robust (P20)",
        "plan_frontier_title": "Budget frontier",
        "plan_gain_title": "Gain over greedy",
        "plan_gain": (
            "The optimum: {value}; greedy by value per price: {greedy} (spend {greedy_spend}). "
            "Gain: {gain_value} ({gain})."
        ),
        "plan_gain_none": (
            "The optimum: {value}; greedy by value per price: {greedy}. Not comparable: greedy "
            "misses a rule ({unmet})."
        ),
        "plan_download": "Download the plan workbook (XLSX)",
        "plan_excluded_title": "Left out before planning",
        "plan_no_pool": "There is no such pool.",
        "plan_no_analytics": (
            "Plans need the analytics extra on the server: pip install 'pgy-metrics[analytics]'."
        ),
        "plan_too_large": "The plan form is too large or malformed (the file may be at most 2 MB).",
        # watchlists (watch.py) and the charts
        "nav_watchlists": "Watchlists",
        "history_table": "The history as a table",
        "watch_title": "Watchlists",
        "watch_intro": (
            "Creators × scopes the server refreshes on a period, spread over it (pgy watch). "
            "Refreshes are made on the server's accounts and charged to no token: watchlists "
            "are the operator's, so this page is for admin tokens."
        ),
        "watch_admin_only": (
            "Watchlists are the operator's (refreshed on the server's accounts, charged to no "
            "token): this page is for admin tokens."
        ),
        "watch_too_large": "The form is larger than 2 MiB: upload a shorter list.",
        "watch_lists": "Lists",
        "watch_none": "No watchlists yet: create one below.",
        "watch_every": "Refresh every",
        "watch_size": "Creators × scopes",
        "watch_size_value": "{creators} × {scopes}",
        "watch_next": "Next refresh due",
        "watch_last": "Last refreshed",
        "watch_overdue": "Overdue",
        "watch_calls": "Calls a day",
        "watch_capacity": "Calls needed: {needed} a day of {capacity} ({share}).",
        "watch_capacity_unchecked": (
            "Calls needed: {needed} a day; capacity not checked (the configured sources have no "
            "account pool)."
        ),
        "watch_add_title": "Create a watchlist or add to one",
        "watch_name_help": (
            "1-100 letters, digits, '_', '.' or '-'. An existing list gets these creators added "
            "(a new period re-plans the whole list)."
        ),
        "watch_ids": "Creators",
        "watch_ids_help": (
            "One id or Pugongying profile URL per line (lines starting with # are ignored)."
        ),
        "watch_pool": "And the creators of a pool",
        "watch_no_pool": "(no pool)",
        "watch_file": "Or upload a list",
        "watch_file_help": (
            "CSV or XLSX with a header naming the id column (userId, user_id, 博主ID, id, url, "
            "...), as pgy batch reads it."
        ),
        "watch_scopes": "Scopes",
        "watch_scopes_help": (
            "notes_rate scopes as pgy watch add --scopes takes them: default, all, daily, "
            "sponsored, core, analysis, or scope keys separated by commas "
            "(e.g. DAILY_NOTE.VIDEO.DAY_30.ALL)."
        ),
        "watch_every_help": "The refresh period: {forms}.",
        "watch_submit": "Watch these creators",
        "watch_skipped": "{count} line(s) skipped:",
        "watch_line": "line {line}",
        "watch_removed": "Watchlist {name} deleted: its creators are no longer refreshed.",
        "watch_one_title": "Watchlist {name}",
        "watch_back": "All watchlists",
        "watch_trend": "Collections per hour",
        "watch_no_chart": (
            "The chart needs the analytics extra (pip install 'pgy-metrics[analytics]')."
        ),
        "watch_creators": "Creators",
        "watch_creators_help": (
            "Each opens the creator page (it quotes the look-up's cost first), whose history "
            "charts show every stored collection."
        ),
        "watch_remove_title": "Remove",
        "watch_remove": "Delete watchlist {name}",
        "watch_remove_short": "Delete",
        "watch_remove_help": "Its creators stop being refreshed; stored collections stay.",
    },
    "zh": {
        "site": "pgy-metrics 控制台",
        "language": "English",
        "nav_creator": "博主",
        "nav_usage": "用量",
        "nav_status": "状态",
        "nav_tokens": "令牌",
        "sign_in": "登录",
        "sign_out": "退出",
        "signed_in_as": "当前身份",
        "admin": "管理员",
        "holder": "令牌持有人",
        "token_label": "API 令牌",
        "token_help": (
            "您的 API 令牌（pgy_...）。只在登录时校验一次，不保存、不显示、不记录；"
            "之后由会话 Cookie 代替。"
        ),
        "sign_in_title": "登录控制台",
        "sign_in_failed": "令牌未知或已吊销。请检查令牌或联系运营方。",
        "sign_in_limited": "该地址使用未知令牌登录次数过多，请在 {seconds} 秒后重试。",
        "sign_in_missing": "请粘贴您的 API 令牌以登录。",
        "signed_out": "您已退出。",
        "expired": "会话已结束（已退出或已过期），请重新登录。",
        "home_title": "控制台",
        "home_intro": (
            "查询博主、对比博主池、制定投放方案、查看您的用量与余额以及服务状态。监控列表将在后续版本提供。"
        ),
        "creator_title": "博主",
        "creator_ref": "博主 ID 或蒲公英主页链接",
        "creator_ref_help": (
            "24 位十六进制字符，或形如 https://pgy.xiaohongshu.com/solar/pre-trade/"
            "blogger-detail/<id> 或 https://www.xiaohongshu.com/user/profile/<id> 的链接。"
        ),
        "look_up": "查询",
        "quote_title": "获取前：费用说明",
        "quote_intro": (
            "查询 {user_id} 共 {calls} 次调用：{fresh} 次重新采集，{cached} 次使用已采集的数据，"
            "每次按 API 的价格计费。"
        ),
        "quote_total": "合计：最多 {total} 积分",
        "quote_balance": "您的余额：{balance} 积分。",
        "quote_unmetered": "您的令牌不计费：调用只计数，不从余额扣除。",
        "quote_refused": "您的令牌方案不允许（将跳过）：{endpoints}。",
        "quote_endpoint": "接口",
        "quote_calls": "调用次数",
        "quote_cached": "缓存",
        "quote_price": "积分",
        "confirm": "获取并支付 {total} 积分",
        "confirm_free": "获取（不计费）",
        "fetching": "获取中…",
        "quote_changed": "确认后价格上涨了（{then} → {now} 积分），请再次确认。",
        "charged": "本次查询扣除 {credits} 积分。",
        "scopes_title": "各范围数据",
        "scope_failed": "未获取到",
        "field": "字段",
        "value": "数值",
        "collected": "采集时间",
        "indicators_title": "指标",
        "indicators_pool": "在此令牌查询过的 {size} 位博主（含本博主）中的百分位。",
        "indicator": "指标",
        "percentile": "百分位",
        "no_analytics": "指标需要 analytics 扩展：pip install 'pgy-metrics[analytics]'。",
        "no_indicator_data": "未获取到笔记数据，无法计算指标。",
        "benchmark_failed": "指标计算失败（详见服务器日志）。",
        "flags_title": "风险提示",
        "no_flags": "无风险提示。",
        "flag": "提示",
        "scope": "范围",
        "evidence": "依据",
        "severity": "级别",
        "profile_title": "档案与报价",
        "audience_title": "粉丝画像",
        "data_summary_title": "数据概览",
        "fans_summary_title": "粉丝概览",
        "not_answered": "未获取到：{message}",
        "history_title": "默认范围的历史数据",
        "history_empty": "目前只有一次采集：数据过了新鲜期后再次查询，历史序列会增加。",
        "usage_title": "用量",
        "balance_title": "余额与限制",
        "balance": "余额",
        "unmetered": "不计费",
        "daily_quota": "每日额度",
        "none": "无",
        "calls_today": "今日调用",
        "credits_today": "今日积分",
        "remaining_today": "今日剩余",
        "rate_limit": "频率限制",
        "endpoints": "接口",
        "all": "全部",
        "by_day": "每日调用与花费",
        "day": "日期",
        "calls": "调用",
        "credits": "积分",
        "in_flight": "进行中",
        "no_usage": "暂无调用。",
        "token": "令牌",
        "status_title": "状态",
        "health_title": "上游健康度（最近 {minutes} 分钟）",
        "subject": "对象",
        "label": "标签",
        "success": "成功率",
        "ok": "成功",
        "failed": "失败",
        "since": "自",
        "no_health": "窗口内暂无上游调用。",
        "accounts_title": "上游账号",
        "account": "账号",
        "source": "数据源",
        "state": "状态",
        "reason": "原因",
        "cooling_until": "冷却至",
        "no_accounts": "所配置的数据源没有账号。",
        "tokens_title": "令牌",
        "name": "名称",
        "active": "有效",
        "created": "创建时间",
        "jobs_title": "采集任务",
        "jobs_inline": "采集在服务进程内进行（无队列、无任务）。",
        "refused_title": "已拒绝",
        "form_malformed": "无法读取表单（不是本页面发送的表单）。请刷新页面后重试。",
        "csrf_refused": (
            "该表单不是从本控制台页面提交的（安全令牌缺失或错误）。请刷新页面后重新提交。"
        ),
        "admin_only": "此页面仅限管理员令牌。",
        "not_found": "没有这个页面。",
        "yes": "是",
        "no": "否",
        "back": "返回控制台",
        "nav_pools": "博主池",
        "pools_title": "博主池",
        "pools_intro": (
            "上传博主列表（CSV、XLSX 或文本；博主 ID 或蒲公英主页链接，"
            "与 pgy batch 读取的文件相同），"
            "先查看获取费用，再做基准对比。"
        ),
        "pools_yours": "你的博主池",
        "pools_none": "还没有博主池。",
        "pools_back": "全部博主池",
        "pool_name": "博主池名称",
        "pool_file": "博主列表（CSV、XLSX 或文本）",
        "pool_file_help": (
            "最大 {kib} KiB。CSV/XLSX：表头需注明 ID 列（userId、user_id、博主ID、url 等）。"
            "无效行会列出行号，其余行照常保存。"
        ),
        "pool_upload": "上传",
        "pool_no_file": "请选择要上传的文件。",
        "pool_empty": "文件中没有有效的博主。",
        "pool_too_large": "上传文件超过 {kib} KiB，请拆分为多个博主池。",
        "pool_members": "博主数",
        "pool_state": "状态",
        "pool_created": "创建时间",
        "pool_owner": "令牌",
        "pool_state_new": "尚未获取",
        "pool_state_fetching": "获取中",
        "pool_state_done": "已获取",
        "pool_state_interrupted": "已中断",
        "pool_progress": "已获取 {done}，失败 {failed}，剩余 {remaining}，共 {size}",
        "pool_progress_label": "获取进度",
        "pool_problems": "未使用的行",
        "pool_line": "行号",
        "pool_text": "内容",
        "pool_reason": "原因",
        "pool_creator": "博主",
        "pool_failed": "获取失败的博主",
        "pool_interrupted": "获取在完成前停止了（服务器重启）。请继续：已获取的博主不会再次计费。",
        "pool_resume": "继续获取，最多支付 {total} 积分",
        "pool_quote_intro": (
            "获取 {members} 位博主需调用 {calls} 次（每位 8 个笔记数据范围及含报价的主页）："
            "{fresh} 次重新获取，{cached} 次使用已采集数据，价格与 API 相同。"
        ),
        "pool_plan": "规划投放",
        "pool_watch": "监控这些博主",
        "pool_benchmark": "基准对比",
        "pool_download_xlsx": "下载 XLSX 报告",
        "pool_download_html": "下载 HTML 报告",
        "pool_tier": "层级",
        "pool_all_tiers": "全部层级",
        "pool_filter": "博主或内容类目包含",
        "pool_apply": "筛选",
        "pool_shown": "显示 {shown} / {total} 位博主。",
        "pool_charts": "图表",
        "pool_chart_quadrant": "象限图：触达与互动",
        "pool_chart_heatmap": "热力图：各数据范围的阅读中位数",
        "pool_no_data": "尚未获取数据：博主获取后将显示表格和图表。",
        "pool_no_report": "此博主池还没有已获取的博主，因此没有报告。",
        "pool_choose": "百分位基于",
        "pool_default": "此令牌查询过的博主",
        "indicators_chosen_pool": (
            "在博主池 {name} 中已有数据的 {size} 位博主（含本博主）中的百分位。"
        ),
        # plans (plans.py)
        "nav_plans": "投放方案",
        "plans_title": "制定投放方案",
        "plans_intro": (
            "在预算和规则之内选择博主和笔记形式，使目标最大；只使用您已付费获取的数据"
            "（请先在博主页面查询）。此页面不会采集或扣费。"
        ),
        "plan_creators": "博主",
        "plan_creators_help": "博主 id 或蒲公英主页链接，每行一个（最多 {max} 位博主）。",
        "plan_file": "或上传候选文件（CSV 或 XLSX）",
        "plan_file_help": (
            "与 pgy plan 相同的文件：user_id、price_photo、price_video、followers、tier、"
            "content_tag。文件中的报价优先于博主资料中的报价。"
        ),
        "plan_budget": "预算",
        "plan_objective": "目标",
        "plan_rules_title": "规则",
        "plan_rules_help": "常用规则在此填写；其他规则写在下方的 TOML 字段中。",
        "plan_tier": "层级",
        "plan_tier_min": "层级花费占比下限",
        "plan_tier_max": "层级花费占比上限",
        "plan_min_video_share": "视频花费占比下限（0-1）",
        "plan_max_per_any_tag": "每个内容标签的博主数上限",
        "plan_max_creator_budget_share": "单个博主预算占比上限（0-1]",
        "plan_exclude_flags": "排除带有以下风险标记的博主",
        "plan_audience_gender": "受众性别",
        "plan_audience_gender_min": "受众性别占比下限（0-1）",
        "plan_any": "（不限）",
        "plan_rules_toml": "规则（TOML，与 rules.toml 语法相同）",
        "plan_rules_toml_help": (
            "例如：max_per_any_tag = 3，或 [max_per_tag] 下写 beauty = 2。见 docs/planner.md。"
        ),
        "plan_submit": "制定方案",
        "plan_planning": "正在计算…",
        "plan_missing_title": "请先采集：没有数据的博主",
        "plan_missing_notes": "此令牌没有付费获取的笔记数据",
        "plan_missing_prices": "没有报价：未付费获取博主资料，文件中也没有报价",
        "plan_fetch_first": "查询",
        "plan_problems_title": "文件中被跳过的行",
        "plan_nothing": "这些博主都还没有数据：请先查询。",
        "plan_infeasible_title": "没有满足规则的方案",
        "plan_result_title": "投放方案",
        "plan_totals": (
            "{creators} 位博主，花费 {spend}（预算 {budget}）；预期 {objective}：{value}。"
        ),
        "plan_proven": "已证明最优。",
        "plan_not_proven": "在时间限制内未证明最优（{status}）。",
        "plan_synthetic": "合成数据（沙盒数据源）：不是真实博主。",
        "plan_col_creator": "博主",
        "plan_col_format": "形式",
        "plan_col_tier": "层级",
        "plan_col_tag": "内容标签",
        "plan_col_price": "报价",
        "plan_col_value": "预期",
        "plan_col_robust": "稳健值（P20）",
        "plan_frontier_title": "预算前沿",
        "plan_gain_title": "相对贪心法的提升",
        "plan_gain": (
            "最优：{value}；按性价比贪心：{greedy}（花费 {greedy_spend}）。"
            "提升：{gain_value}（{gain}）。"
        ),
        "plan_gain_none": (
            "最优：{value}；按性价比贪心：{greedy}。无法比较：贪心法未满足规则（{unmet}）。"
        ),
        "plan_download": "下载方案工作簿（XLSX）",
        "plan_excluded_title": "规划前被排除",
        "plan_no_pool": "没有这个博主池。",
        "plan_no_analytics": (
            "投放方案需要服务器安装 analytics 扩展：pip install 'pgy-metrics[analytics]'。"
        ),
        "plan_too_large": "方案表单过大或格式错误（文件最大 2 MB）。",
        # watchlists (watch.py) and the charts
        "nav_watchlists": "监测列表",
        "history_table": "历史数据表格",
        "watch_title": "监测列表",
        "watch_intro": (
            "服务器按周期刷新的博主 × 范围，刷新在周期内均匀分布（pgy watch）。刷新使用服务器的"
            "账号，不向任何令牌计费：监测列表属于运营方，因此本页面仅限管理员令牌。"
        ),
        "watch_admin_only": (
            "监测列表属于运营方（用服务器的账号刷新，不向任何令牌计费）：此页面仅限管理员令牌。"
        ),
        "watch_too_large": "表单超过 2 MiB：请上传较短的列表。",
        "watch_lists": "列表",
        "watch_none": "还没有监测列表：请在下方创建。",
        "watch_every": "刷新周期",
        "watch_size": "博主 × 范围",
        "watch_size_value": "{creators} × {scopes}",
        "watch_next": "下次刷新",
        "watch_last": "上次刷新",
        "watch_overdue": "逾期",
        "watch_calls": "每日调用",
        "watch_capacity": "所需调用：每日 {needed} 次，容量 {capacity}（{share}）。",
        "watch_capacity_unchecked": (
            "所需调用：每日 {needed} 次；未检查容量（所配置的数据源没有账号池）。"
        ),
        "watch_add_title": "创建监测列表或向其添加",
        "watch_name_help": (
            "1-100 个字母、数字、'_'、'.' 或 '-'。"
            "已有的列表会加入这些博主（新的周期会重新安排整个列表）。"
        ),
        "watch_ids": "博主",
        "watch_ids_help": "每行一个博主 ID 或蒲公英主页链接（以 # 开头的行会被忽略）。",
        "watch_pool": "以及博主池中的博主",
        "watch_no_pool": "（不使用博主池）",
        "watch_file": "或上传列表",
        "watch_file_help": (
            "CSV 或 XLSX，表头写明 ID 列（userId、user_id、博主ID、id、url 等），"
            "与 pgy batch 的读取规则相同。"
        ),
        "watch_scopes": "范围",
        "watch_scopes_help": (
            "notes_rate 的范围，写法同 pgy watch add --scopes：default、all、daily、sponsored、"
            "core、analysis，或以逗号分隔的范围键（如 DAILY_NOTE.VIDEO.DAY_30.ALL）。"
        ),
        "watch_every_help": "刷新周期：{forms}。",
        "watch_submit": "监测这些博主",
        "watch_skipped": "跳过 {count} 行：",
        "watch_line": "第 {line} 行",
        "watch_removed": "已删除监测列表 {name}：其博主不再刷新。",
        "watch_one_title": "监测列表 {name}",
        "watch_back": "全部监测列表",
        "watch_trend": "每小时采集次数",
        "watch_no_chart": "图表需要 analytics 扩展（pip install 'pgy-metrics[analytics]'）。",
        "watch_creators": "博主",
        "watch_creators_help": (
            "每个链接打开博主页面（会先报出查询费用），其历史图表显示每次已存储的采集。"
        ),
        "watch_remove_title": "删除",
        "watch_remove": "删除监测列表 {name}",
        "watch_remove_short": "删除",
        "watch_remove_help": "其博主不再刷新；已存储的采集保留。",
    },
}
