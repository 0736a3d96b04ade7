"""The doors institutions push through: REST (`rest`), signed channel (`channel`), their HTTP helpers (`http`)."""
