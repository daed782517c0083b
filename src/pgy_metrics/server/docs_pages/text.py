"""The pages' own words in English and Chinese; everything about an endpoint comes from its spec.

Only what the registry and ``contract.codes`` do not carry lives here: the headings and labels of
the page, and the Chinese meaning of each business code (``BusinessCode.default_message`` is the
English one). A code without a Chinese text fails ``tests/unit/test_docs_pages.py``.
"""

from __future__ import annotations

from typing import Final

from pgy_metrics.contract.codes import BusinessCode

LANGUAGES: Final = ("en", "zh")

CODES_ZH: Final[dict[BusinessCode, str]] = {
    BusinessCode.SUCCESS: "成功（只有成功的调用计费）。",
    BusinessCode.INVALID_TOKEN: "令牌缺失、未知、已吊销或已过期。",
    BusinessCode.COLLECTION_FAILED: "数据采集失败，请稍后重试。",
    BusinessCode.RATE_LIMITED: "超出频率限制，请在 Retry-After 所示时间后重试。",
    BusinessCode.DAILY_QUOTA_EXCEEDED: "该令牌的每日调用额度已用完。",
    BusinessCode.INVALID_PARAMS: "参数无效（message 会指出参数及其可选值）。",
    BusinessCode.SERVER_ERROR: "服务器内部错误，请稍后重试。",
    BusinessCode.PERMISSION_DENIED: "该令牌无权调用此接口。",
    BusinessCode.INSUFFICIENT_BALANCE: "该令牌余额低于本次调用的价格。",
}

_SUCCESS_EN = "Success (only a successful call is charged)."


def code_meaning(code: BusinessCode, *, zh: bool) -> str:
    """What a business code means, in English or Chinese."""
    if zh:
        return CODES_ZH[code]
    return code.default_message or _SUCCESS_EN


TEXT: Final[dict[str, dict[str, str]]] = {
    "en": {
        "site": "pgy-metrics API",
        "index_title": "API documentation",
        "index_intro": (
            "Every endpoint this server answers. Each call is GET with the query parameters "
            "token and userId (and the endpoint's own); every answer is HTTP 200 with the "
            "outcome in code."
        ),
        "endpoint": "Endpoint",
        "path": "Path",
        "health": "Health",
        "health_since": "since",
        "health_loading": "Loading…",
        "no_data": "No data",
        "health_note": "Upstream success over the last {minutes} minutes, from /status.",
        "description": "Description",
        "parameters": "Parameters",
        "name": "Name",
        "required": "Required",
        "yes": "yes",
        "no": "no",
        "available": "Available values",
        "default": "Default",
        "meaning": "Description",
        "token_desc": "Your API token (a query parameter; keep it secret).",
        "user_id_desc": "The creator id: 24 lowercase hex characters.",
        "environment": "Environment",
        "base_url": "Base URL",
        "env_one": "Call this server at the base URL below.",
        "env_many": (
            "This deployment has several base URLs. Your browser times a cheap request to each; "
            "use the fastest."
        ),
        "measure": "Measure again",
        "measuring": "measuring…",
        "unreachable": "unreachable",
        "fastest": "Recommended: {name} ({ms} ms)",
        "codes": "Business codes",
        "code": "code",
        "samples": "Code samples",
        "samples_note": (
            "Each sample sets a 60 s timeout, checks code, and prints data on 0, otherwise the "
            "code and the message. Replace YOUR_TOKEN with your token."
        ),
        "samples_base": "The samples call:",
        "label_at_least": "at least {percent} % of upstream calls succeeded",
        "label_below": "below {percent} %",
        "label_no_data": "fewer than {calls} upstream calls in the window",
        "copy_label": "Copy",
        "copied": "Copied",
        "copy_failed": "Copy failed: select the text",
        "run": "Save as {file} and run: {command}",
        "openapi": "OpenAPI definition",
        "example": "Latest successful example",
        "no_example": "No successful call yet.",
        "examples_hidden": "This server does not show examples.",
        "synthetic": "Synthetic data (sandbox source): not a real creator's figures.",
        "example_meta": "Creator {user_id}, collected {when} by the {source} source.",
        "language": "中文",
        "back": "All endpoints",
        "ttl": "Freshness",
        "ttl_value": "a stored answer younger than {hours} h is served without a new collection",
    },
    "zh": {
        "site": "pgy-metrics 接口",
        "index_title": "接口文档",
        "index_intro": (
            "本服务器提供的全部接口。每次调用均为 GET，"
            "查询参数为 token 和 userId（以及接口自己的参数）；返回始终为 HTTP 200，结果见 code。"
        ),
        "endpoint": "接口",
        "path": "路径",
        "health": "健康状态",
        "health_since": "起始于",
        "health_loading": "加载中…",
        "no_data": "No data",
        "health_note": "近 {minutes} 分钟上游调用的成功情况，数据来自 /status。",
        "description": "说明",
        "parameters": "参数",
        "name": "名称",
        "required": "必填",
        "yes": "是",
        "no": "否",
        "available": "可选值",
        "default": "默认值",
        "meaning": "说明",
        "token_desc": "接口令牌（查询参数，请保密）。",
        "user_id_desc": "博主 ID：24 位小写十六进制字符。",
        "environment": "环境",
        "base_url": "基础地址",
        "env_one": "请使用下面的基础地址调用本服务器。",
        "env_many": (
            "本部署有多个基础地址。浏览器会对每个地址发起一次轻量请求并计时，请使用最快的。"
        ),
        "measure": "重新测速",
        "measuring": "测速中…",
        "unreachable": "无法访问",
        "fastest": "推荐：{name}（{ms} 毫秒）",
        "codes": "业务码",
        "code": "code",
        "samples": "代码示例",
        "samples_note": (
            "每个示例都设置 60 秒超时、检查 code：为 0 时打印 data，否则打印 code 和 message。"
            "请把 YOUR_TOKEN 换成你的令牌。"
        ),
        "samples_base": "示例调用的地址：",
        "label_at_least": "上游调用成功率不低于 {percent}%",
        "label_below": "成功率低于 {percent}%",
        "label_no_data": "时间窗口内上游调用少于 {calls} 次",
        "copy_label": "复制",
        "copied": "已复制",
        "copy_failed": "复制失败，请手动选择文本",
        "run": "保存为 {file} 并运行：{command}",
        "openapi": "OpenAPI 定义",
        "example": "最近一次成功返回示例",
        "no_example": "暂无成功调用。",
        "examples_hidden": "本服务器不展示示例。",
        "synthetic": "合成数据（sandbox 数据源）：并非真实博主的数据。",
        "example_meta": "博主 {user_id}，由 {source} 数据源采集于 {when}。",
        "language": "English",
        "back": "全部接口",
        "ttl": "数据新鲜度",
        "ttl_value": "{hours} 小时内的已存数据直接返回，不重新采集",
    },
}
"""The page's words by language; both languages have the same keys, and none is the name of a
``dict`` method (the templates read ``t.key``, which would find the method first): a test checks."""
