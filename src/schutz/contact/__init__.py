"""The contact form's messages (C12): a question, an objection or a data-subject request."""
