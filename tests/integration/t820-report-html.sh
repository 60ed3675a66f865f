#!/usr/bin/env bash
# t820: the report's HTML page (issue 16) as a browser shows it.  Headless
# Chromium, with no network, parses it (the DOM has one figure.chart with an
# <svg role="img">, title, desc, viewBox and drawn marks per chart the
# report's JSON calls for; markup from the report reads as text), screenshots
# it (the page is not blank; each chart, shown alone in its own band, is
# drawn in its own colours), and prints it to PDF.  A page with nothing in it
# still says so; a broken page fails these same checks.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/chromium.sh"
tool=$(missing_tool "$CHROMIUM" "$HTML_PY" timeout) && bail_out "$tool (scripts/setup)"
"$HTML_PY" -c 'import PIL' 2>/dev/null || bail_out "python3-pil (scripts/setup)"

UNIT=${OPSCTL_TEST_REPORT_HTML_UNIT:-$ROOT/build/unit/report/test_report_html}
FX="$T/fixtures"

# The unit test's fixture reports, rendered by ops_report_html():
# full (30 days of a filling disk and a leak), empty, hostile (markup in
# every string, NaN, one point, flat series).
# Its own checks are the unit test's business (make check runs it): what
# counts here is the pages it wrote, so that these checks stand on their own.
render_fixtures() {
	[ -s "$FX/full.html" ] && return 0
	mkdir -p "$FX" && { "$UNIT" "$FX" >"$T/unit.log" 2>&1; [ -s "$FX/full.html" ]; }
}

# render_report_html OUT: OUT.html, the page `opsctl report --format html`
# writes over issue 16's acceptance history (tests/lib/report_history.py: a
# leak, a disk that fills, three failed backups), and OUT.json, the report
# it draws, from the same history.
render_report_html() {
	local state="$T/report-state"
	[ -s "$state/history.db" ] || { mkdir -p "$state" &&
		python3 "$ROOT/tests/lib/report_history.py" "$state" "$(date +%s)" >/dev/null; } || return 1
	printf '[report]\nhistory = false\n' >"$T/report.conf"
	OPSCTL_STATE_DIR="$state" OPSCTL_CONFIG="$T/report.conf" "$OPSCTL" --output json report >"$1.json" &&
		OPSCTL_STATE_DIR="$state" OPSCTL_CONFIG="$T/report.conf" "$OPSCTL" report --format html -o "$1.html" >/dev/null
}

# check_page NAME HTML JSON [TEXT...]: everything a browser must see in a
# page; the charts expected come from the JSON.
check_page() {
	local name=$1 page=$2 report=$3 want kinds size bkinds
	shift 3
	local texts=()
	for t in "$@"; do texts+=(--text "$t"); done

	read -r want kinds < <(html_check expect "$report")
	run html_check static "$page"
	check "$RC" "$name: nothing to fetch (no script, URL, src, link, @import, url(), web font)"

	if chromium_dom "$page" >"$T/$name.dom" && [ -s "$T/$name.dom" ]; then
		ok "$name: Chromium parses the page"
	else
		not_ok "$name: Chromium parses the page"
		chromium_log
	fi
	run html_check dom "$T/$name.dom" --charts "$want" "${texts[@]}"
	check "$RC" "$name: the DOM has $want figure.chart, each an svg role=img with title, desc, viewBox and marks; no script"

	if chromium_screenshot "$page" "$T/$name.png" 1000x3000; then
		ok "$name: screenshot taken"
	else
		not_ok "$name: screenshot taken"
		chromium_log
	fi
	if [ "$want" -gt 0 ]; then
		run html_check png "$T/$name.png" --min-ink 0.02 --min-colours 8
		check "$RC" "$name: the screenshot is not blank (ink, 8+ colours)"
	else
		run html_check png "$T/$name.png" --min-ink 0.002 --min-colours 2
		check "$RC" "$name: the screenshot shows the page's text"
	fi
	read -r size bkinds < <(html_check bands "$page" "$T/$name-bands.html")
	if [ "$bkinds" = "$kinds" ]; then
		ok "$name: the page's charts are those the JSON calls for (${kinds:-none})"
	else
		not_ok "$name: the page's charts are those the JSON calls for"
		diag "page: $bkinds"
		diag "json: $kinds"
	fi
	# Only the charts shown, each in its band: every band drawn, and
	# nothing below the last (with no chart, nothing at all).
	chromium_screenshot "$T/$name-bands.html" "$T/$name-bands.png" "$size"
	# shellcheck disable=SC2086
	run html_check png-bands "$T/$name-bands.png" $bkinds
	check "$RC" "$name: each of the $want charts is drawn in its band (ink, colours, series or bars), nothing else"

	if chromium_pdf "$page" "$T/$name.pdf"; then
		ok "$name: printed to PDF"
	else
		not_ok "$name: printed to PDF"
		chromium_log
	fi
	run html_check pdf "$T/$name.pdf" --min-pages 1
	check "$RC" "$name: the PDF has pages"
}

# ---- the report ----
if render_report_html "$T/report"; then
	ok "the report renders as HTML"
else
	bail_out "the report renders as HTML ($(tail -n 3 "$T/unit.log" 2>/dev/null))"
fi
check_page report "$T/report.html" "$T/report.json"
run html_check pdf "$T/report.pdf" --min-pages 2
check "$RC" "the report prints on more than one page"
if grep -qF '@media print' "$T/report.html" && grep -qF 'break-inside:avoid' "$T/report.html"; then
	ok "print rules keep a chart on one page"
else
	not_ok "print rules keep a chart on one page"
fi

# ---- the fixtures beside it ----
if render_fixtures; then
	check_page hostile "$FX/hostile.html" "$FX/hostile.json" \
		'<script>alert("x")</script>' 'bad �� utf-8 � control'
	check_page empty "$FX/empty.html" "$FX/empty.json" 'There is no data in this report'
	# whatever render_report_html draws, the fixture's task error with
	# markup in it stays checked
	chromium_dom "$FX/full.html" >"$T/fixtures-full.dom"
	run html_check dom "$T/fixtures-full.dom" --charts 6 \
		--text 'pg_dump: error: connection to server <script>alert("x")</script>'
	check "$RC" "a task's error line with <script> is text in the DOM, and no script element"
else
	not_ok "the fixture pages render"
fi

# ---- the checks bite: broken pages fail them ----
# expect_check_fails DESC PATTERN...: the last `run` of html_check failed,
# saying each PATTERN (grep -E)
expect_check_fails() {
	local desc=$1 p bad=""
	shift
	[ "$RC" -eq 1 ] || bad="exit $RC, expected 1"
	for p in "$@"; do
		grep -qE -- "$p" "$OUT" || bad="${bad:+$bad; }no '$p'"
	done
	if [ -z "$bad" ]; then ok "$desc"; else not_ok "$desc ($bad)"; diag_run; fi
}
if [ -s "$FX/full.html" ]; then
	# a chart whose line is gone (NaN coordinates) and whose svg has no title
	sed -e '0,/class="series" fill="none" stroke="#1565c0" stroke-width="2" stroke-linejoin="round" d="[^"]*"/s//class="series" fill="none" stroke="#1565c0" stroke-width="2" d="Mnan nan"/' \
		-e 's/<circle [^>]*>//g' "$FX/full.html" >"$T/broken.html"
	chromium_dom "$T/broken.html" >"$T/broken.dom"
	run html_check dom "$T/broken.dom" --charts 6
	expect_check_fails "the DOM check fails a chart with NaN coordinates" 'not numbers'

	read -r size bkinds < <(html_check bands "$T/broken.html" "$T/broken-bands.html")
	chromium_screenshot "$T/broken-bands.html" "$T/broken-bands.png" "$size"
	# shellcheck disable=SC2086
	run html_check png-bands "$T/broken-bands.png" $bkinds
	expect_check_fails "the screenshot check fails a line chart drawn without its line" \
		'band 2 \(line\):.*series colour'
	run html_check dom "$T/fixtures-full.dom" --charts 7
	expect_check_fails "the DOM check fails a missing chart" '6 figure.chart in the DOM, expected 7'
	sed 's|<main>|<main><img src="https://example.invalid/x.png"><script>1</script>|' \
		"$FX/full.html" >"$T/fetching.html"
	run html_check static "$T/fetching.html"
	expect_check_fails "the static check fails a page that would fetch or run something" \
		'<script> element' 'src attribute' 'a URL'
	run html_check png "$T/empty.png" --min-ink 0.02 --min-colours 8
	expect_check_fails "the blank check fails the chartless page at the charts' thresholds" \
		'of the pixels drawn'
	run html_check png-bands "$T/report-bands.png"
	expect_check_fails "the no-chart check fails a page with charts" 'drawn below the 0 bands'
	run html_check png "$T/report.png" --min-colours 200
	expect_check_fails "the colour check fails a page with fewer colours than asked" 'colours, expected'

fi

done_testing
