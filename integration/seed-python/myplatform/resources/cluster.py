"""Agnostic cluster."""

from myplatform.core import add_definition


def add_cluster(composition, name, external_name=None, template=None, uses=None):
    add_definition(composition, "cluster", "cluster", "Cluster", name, external_name, template, uses)
