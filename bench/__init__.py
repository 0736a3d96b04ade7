"""`make bench`: the performance instrument (issue #6): ingest against the floor, throughput, reviewers, exports."""
