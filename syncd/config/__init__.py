"""Configuration: the YAML file read and validated into frozen section models.

The wing's vocabulary: a *raw* configuration is the file after ``${VAR}`` interpolation and
before validation (:mod:`syncd.config.raw`); a *section* is one validated part of it
(:mod:`syncd.config.sections`); a *problem* is one validation error worded for the user
(:mod:`syncd.config.problems`); :mod:`syncd.config.loading` ties them together.
"""
