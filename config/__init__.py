"""Project configuration: settings, URL map and WSGI entry point."""
