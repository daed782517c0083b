"""The code samples of an endpoint's page, rendered from its spec (one source of truth).

Every sample sets a 60 s timeout, reads the envelope's ``code`` and prints ``data`` on 0, else
the code and the message (and exits non-zero). The templates sit in ``templates/samples``; the
values in them (path, parameters with their defaults, the example creator) come from the
endpoint registry, so a new endpoint has samples without anyone writing them. CI runs each one
against a real server (tests/integration/test_docs_pages_samples.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined

from pgy_metrics.contract.codes import BusinessCode
from pgy_metrics.contract.endpoints import API_PREFIX, EndpointSpec
from pgy_metrics.contract.params import USER_ID_EXAMPLE
from pgy_metrics.server.docs_pages.text import code_meaning

TOKEN_PLACEHOLDER = "YOUR_TOKEN"  # noqa: S105 - a placeholder, never a token
"""What the pages show where a token goes: a page never holds a real one."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One tab of the samples: what it is, how to run it, and its text."""

    key: str
    """Stable id (tabs, tests): ``curl``, ``prompt``, ``python-requests``..."""
    label: str
    language: str
    """For the ``<code class="language-...">`` of the page."""
    filename: str
    """Where to save it before running it (``run``)."""
    run: str
    """The command that runs it, as a reader types it."""
    code: str


def _python_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _php_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _shell_word(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


_ENVIRONMENT = Environment(
    loader=PackageLoader("pgy_metrics.server.docs_pages", "templates/samples"),
    autoescape=False,  # noqa: S701 - program text, escaped once by the page that shows it
    keep_trailing_newline=True,
    undefined=StrictUndefined,
)
_ENVIRONMENT.filters.update(q=_python_string, php=_php_string, sh=_shell_word)


def snake(name: str) -> str:
    """``dataV3`` -> ``data_v3``, ``userId`` -> ``user_id`` (the SDK's and our names)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def sdk_method(spec: EndpointSpec) -> str | None:
    """The official SDK's method for this endpoint (named from its path, as the SDK is
    generated), or None for a path outside the hosted API's prefix."""
    if not spec.path.startswith(API_PREFIX + "/"):
        return None
    parts = spec.path.removeprefix(API_PREFIX + "/").split("/")
    return "_".join(snake(part) for part in parts if part)


def code_texts(zh: bool) -> list[tuple[int, str]]:
    """Every business code with what it means, in the page's language."""
    return [(code.value, code_meaning(code, zh=zh)) for code in BusinessCode]


def render_samples(
    spec: EndpointSpec,
    base_url: str,
    *,
    zh: bool = False,
    token: str = TOKEN_PLACEHOLDER,
    user_id: str = USER_ID_EXAMPLE,
) -> list[Sample]:
    """Every sample of ``spec`` against ``base_url``, each parameter given its default."""
    extra = [(param.name, param.default.value) for param in spec.params]
    params = [("userId", user_id), *extra]
    url_without_token = f"{base_url}{spec.path}?{urlencode(params)}"
    values = {
        "base_url": base_url,
        "path": spec.path,
        "token": token,
        "user_id": user_id,
        "params": params,
        "extra": extra,
        "endpoint": spec.name,
        "url": f"{base_url}{spec.path}?{urlencode([('token', token), *params])}",
    }

    def render(template: str, **more: object) -> str:
        return _ENVIRONMENT.get_template(template).render(**values, **more)

    prompt = render(
        f"prompt.{'zh' if zh else 'en'}.txt.j2",
        title=spec.title_zh if zh else spec.title,
        url_without_token=url_without_token,
        spec_params=[
            {
                "name": param.name,
                "default": param.default.value,
                "description": param.description_zh if zh else param.description,
                "choices": [value.value for value in param.values],
            }
            for param in spec.params
        ],
        codes=code_texts(zh),
    )
    samples = [
        Sample("curl", "curl", "bash", "sample.sh", "bash sample.sh", render("curl.sh.j2")),
        Sample(
            "prompt",
            "AI 助手提示词" if zh else "AI assistant prompt",
            "text",
            "prompt.txt",
            "",
            prompt,
        ),
        Sample(
            "python-requests",
            "Python (requests)",
            "python",
            "sample.py",
            "python sample.py",
            render("python_requests.py.j2"),
        ),
        Sample(
            "python-client",
            "Python (pgy-metrics)",
            "python",
            "sample.py",
            "python sample.py",
            render("python_client.py.j2"),
        ),
    ]
    method = sdk_method(spec)
    if method is not None:
        sdk_args = [(snake(param.name), param.default.value) for param in spec.params]
        samples.append(
            Sample(
                "python-sdk",
                "Python (justoneapi SDK)",
                "python",
                "sample.py",
                "python sample.py",
                render("python_sdk.py.j2", sdk_method=method, sdk_args=sdk_args),
            )
        )
    samples += [
        Sample(
            "javascript",
            "JavaScript (fetch)",
            "javascript",
            "sample.mjs",
            "node sample.mjs",
            render("javascript.mjs.j2"),
        ),
        Sample(
            "java",
            "Java (java.net.http)",
            "java",
            "Sample.java",
            "java Sample.java",
            render("Sample.java.j2"),
        ),
        Sample("go", "Go (net/http)", "go", "main.go", "go run main.go", render("main.go.j2")),
        Sample("php", "PHP (curl)", "php", "sample.php", "php sample.php", render("sample.php.j2")),
    ]
    return samples
