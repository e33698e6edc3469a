"""Agnostic networking: VPC, subnet, router and NAT."""

from myplatform.core import add_definition


def add_network(composition, name, external_name=None, template=None, uses=None):
    add_definition(composition, "network", "network", "Network", name, external_name, template, uses)


def add_subnetwork(composition, name, external_name=None, template=None, uses=None):
    add_definition(composition, "network", "subnetwork", "Subnetwork", name, external_name, template, uses)


def add_router(composition, name, external_name=None, template=None, uses=None):
    add_definition(composition, "network", "router", "Router", name, external_name, template, uses)


def add_nat(composition, name, external_name=None, template=None, uses=None):
    add_definition(composition, "network", "nat", "NAT", name, external_name, template, uses)
