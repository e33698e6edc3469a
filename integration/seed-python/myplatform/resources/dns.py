"""Agnostic DNS."""

from myplatform.core import add_definition


def add_dns_zone(composition, name, external_name=None, template=None, uses=None):
    add_definition(composition, "dns", "dns_zone", "DNSZone", name, external_name, template, uses)
