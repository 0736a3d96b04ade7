"""The benchmark's table reports the decision deliveries when they were measured (plumbing, not times)."""

from bench.run import delivery_rows, parse_args


def test_the_deliveries_figures_become_two_rows():
    # given the figures bench.deliveries returns
    figures = {
        "deliveries": 500,
        "workers": 8,
        "deliveries_per_second": 23.24,
        "lag_ms_p50": 5800.0,
        "lag_ms_p95": 8800.4,
        "attempts": 500,
        "decisions_per_second_offered": "burst",
    }
    # when
    rows = delivery_rows({"deliveries": figures})
    # then
    assert rows[0][0] == "2 decisions delivered to a loopback receiver (500, 8 workers)"
    assert rows[0][1] == "23.2 deliveries/s (500 attempts)"
    assert rows[1][1] == "5800 / 8800 ms"


def test_no_deliveries_measured_no_rows():
    assert delivery_rows({}) == []
    assert parse_args(["--deliveries", "0"]).deliveries == 0
    assert parse_args([]).deliveries == 500
