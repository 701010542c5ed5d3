"""CoachLab's web platform: models, services, blueprints and commands."""
