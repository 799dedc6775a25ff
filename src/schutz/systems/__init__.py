"""The operator's own systems (shop database, CRM, helpdesk): request events and answers."""
