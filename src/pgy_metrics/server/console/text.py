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
            "Look up a creator, see your usage and balance, and the service's status. Pools, "
            "plans and watchlists arrive in later releases."
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
        "csrf_refused": (
            "This form was not sent from this console's page (its security token is missing or "
            "wrong). Reload the page and send it again."
        ),
        "admin_only": "This page is for admin tokens only.",
        "not_found": "There is no such page.",
        "yes": "yes",
        "no": "no",
        "back": "Back to the console",
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
            "查询博主、查看您的用量与余额以及服务状态。达人池、投放方案与监控列表将在后续版本提供。"
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
        "csrf_refused": (
            "该表单不是从本控制台页面提交的（安全令牌缺失或错误）。请刷新页面后重新提交。"
        ),
        "admin_only": "此页面仅限管理员令牌。",
        "not_found": "没有这个页面。",
        "yes": "是",
        "no": "否",
        "back": "返回控制台",
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
