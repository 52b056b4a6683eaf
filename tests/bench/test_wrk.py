"""Reading wrk's report (the benchmark itself runs only with `make bench`)."""

import pytest

from tests.bench.wrk import WrkError, parse_wrk_output

REPORT = """\
Running 5s test @ http://127.0.0.1:8000/open/
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.52ms  310.20us   9.80ms   91.00%
    Req/Sec     2.63k    80.12     2.80k    70.00%
  Latency Distribution
     50%    1.47ms
     75%    1.60ms
     90%    1.80ms
     99%  812.00us
  13092 requests in 5.00s, 2.01MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:   2617.53
Transfer/sec:    411.32KB
"""


def test_parse_wrk_output_reads_the_figures():
    result = parse_wrk_output(REPORT)

    assert result.requests_per_second == 2617.53
    assert result.p50_seconds == pytest.approx(0.00147)
    assert result.p99_seconds == pytest.approx(0.000812)
    assert result.requests == 13092
    assert result.socket_errors == 3
    assert result.non_2xx_3xx == 7


def test_parse_wrk_output_without_error_lines_counts_zero():
    report = "\n".join(
        line for line in REPORT.splitlines() if "errors" not in line and "Non-2xx" not in line
    )

    result = parse_wrk_output(report)

    assert result.socket_errors == 0
    assert result.non_2xx_3xx == 0


def test_parse_wrk_output_refuses_a_truncated_report():
    with pytest.raises(WrkError, match="unreadable wrk output"):
        parse_wrk_output("Running 5s test @ http://127.0.0.1:8000/open/\n")
