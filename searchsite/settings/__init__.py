"""Settings split by purpose: ``base`` (shared), ``local``, ``test``, ``production``."""
