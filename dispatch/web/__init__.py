"""Our own web pages: templates, static JavaScript and CSS, strict headers."""
