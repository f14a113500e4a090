"""Every action_id, callback_id and command name the app uses, in one place."""

CLAIM = "overheard_claim"
RESOLVE = "overheard_resolve"
DISMISS = "overheard_dismiss"
REOPEN = "overheard_reopen"
OPEN_POST = "overheard_open_post"

SCORE_COMMAND = "/score"
ADMIN_COMMAND = "/overheard"
