"""A private MediaWiki read through its Action API after a bot-password login."""
