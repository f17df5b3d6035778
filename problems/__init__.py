"""Planning problems (pymoo ``Problem`` subclasses over :mod:`grid`) and test functions.

Kept light on purpose: import the problem modules directly (``from problems.dg_siting import
DGSiting``, ``from problems.dgevcs import DGEVCSPlanning``); ``optim.registry`` imports them lazily
by name (``"dg_siting"``, ``"dgevcs"``).
"""
