"""Tests of the sync operator."""
