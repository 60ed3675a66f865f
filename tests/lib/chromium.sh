# Headless Chromium for the report's HTML (t820), sourced after common.sh.
#
#   chromium_screenshot HTML PNG [WIDTHxHEIGHT]   the page as a PNG (1000x3000)
#   chromium_dom HTML                             the DOM after parsing, on stdout
#   chromium_pdf HTML PDF                         the print preview as a PDF
#   html_check ARGS...                            tests/lib/html_check.py (see there)
#                                                 under Debian's python3 (python3-pil)
#
# Each run has its own throwaway profile under $T, is killed after
# CHROMIUM_TIMEOUT seconds (60), and has no network: every host name
# resolves to nothing, the proxy is a closed port, and background fetches
# (updates, sync, metrics) are off, so a page that tried to load anything
# would get nothing.  --no-sandbox only when running as root, which
# Chromium's sandbox refuses.  Chromium's own chatter (D-Bus, GPU) goes to
# $T/chromium.log, shown by chromium_log after a failed check.

CHROMIUM=${CHROMIUM:-chromium}
# Debian's python3, which has python3-pil (a pyenv python on PATH may not).
HTML_PY=${HTML_PY:-/usr/bin/python3}
CHROMIUM_TIMEOUT=${CHROMIUM_TIMEOUT:-60}

_chromium() {
	local prof rc
	prof=$(mktemp -d "$T/chromium-profile.XXXXXX")
	local args=(--headless=new --disable-gpu --no-first-run --no-default-browser-check
		--disable-extensions --disable-sync --disable-background-networking
		--disable-component-update --disable-default-apps --disable-breakpad
		--disable-features=Translate,MediaRouter,OptimizationHints
		--host-resolver-rules='MAP * ~NOTFOUND' --proxy-server='http=127.0.0.1:9;https=127.0.0.1:9'
		--hide-scrollbars --user-data-dir="$prof")
	[ "$(id -u)" -ne 0 ] || args+=(--no-sandbox)
	echo "== $CHROMIUM ${args[*]} $*" >>"$T/chromium.log"
	timeout -k 5 "$CHROMIUM_TIMEOUT" "$CHROMIUM" "${args[@]}" "$@" 2>>"$T/chromium.log" </dev/null
	rc=$?
	rm -rf "$prof"
	return $rc
}

_file_url() {
	python3 -c 'import pathlib, sys; print(pathlib.Path(sys.argv[1]).resolve().as_uri())' "$1"
}

chromium_screenshot() {	# chromium_screenshot HTML PNG [WIDTHxHEIGHT]
	local size=${3:-1000x3000}
	rm -f "$2"
	_chromium --window-size="${size/x/,}" --screenshot="$2" "$(_file_url "$1")" >>"$T/chromium.log" &&
		[ -s "$2" ]
}

chromium_dom() {	# chromium_dom HTML
	_chromium --dump-dom "$(_file_url "$1")"
}

chromium_pdf() {	# chromium_pdf HTML PDF
	rm -f "$2"
	_chromium --no-pdf-header-footer --print-to-pdf="$2" "$(_file_url "$1")" >>"$T/chromium.log" &&
		[ -s "$2" ]
}

chromium_log() {
	diag "chromium.log (last lines):"
	tail -n 15 "$T/chromium.log" 2>/dev/null | awk '{ print "#     " $0 }'
}

html_check() {
	"$HTML_PY" "$ROOT/tests/lib/html_check.py" "$@"
}
