"""Every action_id, callback_id, block_id we read back, and command name the app uses."""

CLAIM = "overheard_claim"
RESOLVE = "overheard_resolve"
DISMISS = "overheard_dismiss"
REOPEN = "overheard_reopen"
OPEN_POST = "overheard_open_post"

# The card's "⋯" menu, and the Mute button of the author reply it opens.
CARD_MENU = "overheard_card_menu"
MUTE_AUTHOR = "overheard_mute_author"

# The menu's modals (callback ids) and the inputs read back from them (block and action ids).
NOTE_VIEW = "overheard_note_view"
NOTE_BLOCK = "note"
NOTE_INPUT = "note_input"
SNOOZE_VIEW = "overheard_snooze_view"
SNOOZE_BLOCK = "snooze_for"
SNOOZE_INPUT = "snooze_for_input"
NOT_RELEVANT_VIEW = "overheard_not_relevant_view"
EXCLUDE_WORD_BLOCK = "exclude_word"
EXCLUDE_WORD_INPUT = "exclude_word_input"
EXCLUDE_AUTHOR_BLOCK = "exclude_author"
EXCLUDE_AUTHOR_INPUT = "exclude_author_input"
SENTIMENT_VIEW = "overheard_sentiment_view"
SENTIMENT_BLOCK = "sentiment"
SENTIMENT_INPUT = "sentiment_input"

SCORE_COMMAND = "/score"
ADMIN_COMMAND = "/overheard"

# /overheard administration: the watch modal (add and edit) and its inputs.
WATCH_VIEW = "overheard_watch_view"
WATCH_QUERY_BLOCK = "watch_query"
WATCH_QUERY_INPUT = "watch_query_input"
WATCH_SOURCES_BLOCK = "watch_sources"
WATCH_SOURCES_INPUT = "watch_sources_input"
WATCH_CHANNEL_BLOCK = "watch_channel"
WATCH_CHANNEL_INPUT = "watch_channel_input"
WATCH_INTERVAL_BLOCK = "watch_interval"
WATCH_INTERVAL_INPUT = "watch_interval_input"
# A network's option in the watch modal (rss's feed URL): the prefix, then the option's name.
WATCH_OPTION_BLOCK_PREFIX = "watch_option_"
WATCH_OPTION_INPUT_SUFFIX = "_input"

# The App Home's buttons.
HOME_ADD_WATCH = "overheard_home_add_watch"
HOME_EDIT_WATCH = "overheard_home_edit_watch"
HOME_PAUSE_WATCH = "overheard_home_pause_watch"
HOME_RESUME_WATCH = "overheard_home_resume_watch"
HOME_PAGE = "overheard_home_page"
# A list's Previous and Next share one actions block, where action ids must differ.
HOME_PAGE_PREVIOUS = HOME_PAGE + "_previous"
HOME_PAGE_NEXT = HOME_PAGE + "_next"

# /score's private card: share it in the channel.
SHARE_SCORE = "overheard_share_score"
