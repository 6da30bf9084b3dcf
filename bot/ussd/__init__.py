"""The USSD adapter: an operator's gateway calls `POST /ussd`; the flows answer as numbered screens."""
