# Shared by scripts/serve and scripts/test: create the virtualenv and install what is missing.
VENV="${COCON_VENV:-$PWD/.venv}"

_as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  # Installs Debian packages that are missing (apt-get update only when needed).
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "Installing Debian packages: ${missing[*]}" >&2
  _as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive _as_root apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
  fi
  # pdqhash builds from source: it needs a C++ compiler and the Python headers.
  command -v g++ >/dev/null 2>&1 || apt_install g++ python3-dev
  local stamp="$VENV/.installed"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    "$VENV/bin/pip" install -q --upgrade pip >/dev/null
    "$VENV/bin/pip" install -q -e ".[test]"
    touch "$stamp"
  fi
}

ensure_bench_tools() {
  # The benchmark's reference server (ngIRCd), used by tests/test_bench_smoke.py too.
  command -v ngircd >/dev/null 2>&1 || [ -x /usr/sbin/ngircd ] || apt_install ngircd
}

ensure_media_tools() {
  command -v ffmpeg >/dev/null 2>&1 || apt_install ffmpeg
}

ensure_browser() {
  if [ ! -x /usr/bin/chromium ]; then
    apt_install chromium chromium-driver fonts-dejavu-core
  fi
}

ensure_node_test_deps() {
  if [ -f tests/browser/package.json ] && [ ! -d tests/browser/node_modules/axe-core ]; then
    if ! command -v npm >/dev/null 2>&1; then apt_install npm; fi
    (cd tests/browser && npm ci --silent --no-audit --no-fund || npm install --silent --no-audit --no-fund)
  fi
}

ensure_rtc_tools() {
  # Calls: coturn (TURN relay) for the call tests; Janus (voice rooms) from Debian too, and
  # iproute2 (`ip netns`): the voice tests run Janus in a network namespace of their own.
  local missing=()
  [ -x /usr/bin/turnserver ] || missing+=(coturn)
  [ -x /usr/bin/janus ] || missing+=(janus)
  command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || missing+=(iproute2)
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
}
