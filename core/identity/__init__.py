"""Who is talking to us: channel accounts, their link to a citizen, identity verification.

A channel account (a Telegram user, later a USSD caller) is linked to a citizen
only after verification; the conversation state and language of the account
live on the same row so that any worker can continue any conversation.
"""
