"""overheard: public mentions of a brand, scored and posted to Slack as claimable cards."""
