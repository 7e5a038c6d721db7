"""Kits: one kind of guide each (its data schemas, macros, templates and styles), outside the core.

A kit is a plain package whose ``KIT`` (a ``guide.kit.Kit``) names what it brings, registered by
name in ``guide.kit.KITS``. The core loads a kit by that name and never imports its insides.
"""
