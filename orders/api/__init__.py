"""The staff read API: `urls`, `views` (lists, one order, CSVs), `serializers` (the JSON shapes) and
`authentication` (staff personal tokens)."""
