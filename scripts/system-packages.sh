#!/usr/bin/env bash
# The system packages of `./dev check`. The browser tests (tests/integration/test_report_browser.py,
# test_docs_pages_browser.py) drive Debian's Chromium (Playwright must not download its own) and
# need a CJK font to draw the Chinese labels; the docs pages' samples are run by their runtimes
# (tests/integration/test_docs_pages_samples.py: Node.js, Java, Go, PHP with curl, curl and jq). This says what is missing and why before installing anything, installs
# it with apt-get only as root, and never with PGY_NO_APT=1. Without the packages those tests skip
# and say why (under PGY_REQUIRE_SERVICES=1 they fail). A browser named by PGY_CHROMIUM is the
# user's choice: it is never replaced.
set -euo pipefail

has_cjk_font() {
  command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh family 2>/dev/null)" ]
}

packages=()
reasons=()
if [ -z "${PGY_CHROMIUM:-}" ] && [ ! -x /usr/bin/chromium ]; then
  packages+=(chromium)
  reasons+=("chromium        the HTML report's browser tests drive it (Playwright downloads nothing)")
fi
if ! has_cjk_font; then
  packages+=(fonts-noto-cjk)
  reasons+=("fonts-noto-cjk  a CJK font: the browser tests draw the report's Chinese labels with it")
fi
runtime() { # program package why
  if ! command -v "$1" >/dev/null 2>&1; then
    packages+=("$2")
    reasons+=("$(printf '%-20s' "$2") $3")
  fi
}
runs="runs the docs pages' samples"
runtime node nodejs "$runs (JavaScript)"
runtime javac default-jdk-headless "$runs (Java: its single-file launch compiles, so the JDK)"
runtime go golang-go "$runs (Go)"
runtime php php-cli "$runs (PHP)"
php_modules=$'\n'"$(php -m 2>/dev/null || true)"$'\n'
if [[ $php_modules != *$'\n'curl$'\n'* ]]; then
  packages+=(php-curl)
  reasons+=("php-curl             $runs (PHP's curl extension)")
fi
runtime curl curl "$runs (the curl line)"
runtime jq jq "$runs (the curl line reads code with jq)"
if [ ${#packages[@]} -eq 0 ]; then exit 0; fi

skipped="the browser tests and the samples' tests skip (and fail under PGY_REQUIRE_SERVICES=1)"
if [ "${PGY_NO_APT:-}" = 1 ]; then
  echo "./dev check: PGY_NO_APT=1, so not installing ${packages[*]}: $skipped" >&2
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "./dev check: missing system packages, not installed (that needs root and apt-get):" >&2
  printf '  %s\n' "${reasons[@]}" >&2
  echo "Install them (sudo apt-get install ${packages[*]}); otherwise $skipped." >&2
  exit 0
fi
echo "./dev check: installing Debian packages with apt-get as root (PGY_NO_APT=1 skips this):" >&2
printf '  %s\n' "${reasons[@]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q "${packages[@]}" >/dev/null ||
  { apt-get update -q >/dev/null && apt-get install -y -q "${packages[@]}" >/dev/null; } ||
  echo "warning: could not install ${packages[*]}: $skipped" >&2
