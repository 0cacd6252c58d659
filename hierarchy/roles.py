"""Roles of the people in the network and what each level's agents are called."""

from __future__ import annotations

import enum

from hierarchy.tree import Level


class Role(enum.StrEnum):
    VILLAGE_AGENT = "village_agent"
    TOWN_AGENT = "town_agent"
    COUNTY_MEMBER = "county_member"
    COUNTY_LEAD = "county_lead"
    CITY_AGENT = "city_agent"
    DEPARTMENT_AGENT = "department_agent"
    DISPATCHER = "dispatcher"
    ADMIN = "admin"


#: The role an ordinary agent has at each level.
AGENT_ROLE = {
    Level.VILLAGE: Role.VILLAGE_AGENT,
    Level.TOWN: Role.TOWN_AGENT,
    Level.COUNTY: Role.COUNTY_MEMBER,
    Level.CITY: Role.CITY_AGENT,
    Level.DEPARTMENT: Role.DEPARTMENT_AGENT,
}

#: Roles that lead a unit: they may return, dispatch and approve for it.
LEAD_ROLES = frozenset({Role.COUNTY_LEAD, Role.DISPATCHER, Role.ADMIN})

#: Roles that plan and apply workload rebalancing for a subtree.
PLANNERS = frozenset({Role.COUNTY_LEAD, Role.DISPATCHER, Role.ADMIN})

#: Roles that manage agents and devices.
ADMINS = frozenset({Role.ADMIN})


def role_fits_level(role: Role, level: Level) -> bool:
    """Whether an agent with ``role`` may belong to a unit at ``level``."""
    if role in (Role.DISPATCHER, Role.ADMIN):
        return level is Level.CITY
    if role is Role.COUNTY_LEAD:
        return level is Level.COUNTY
    return AGENT_ROLE[level] is role
