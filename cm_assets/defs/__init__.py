"""Dagster definitions by domain; ``cm_assets.definitions`` loads every module below."""
