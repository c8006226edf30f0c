"""Run records: sweep statistics, the published records, the README's blocks rendered from them, verify and the report."""
