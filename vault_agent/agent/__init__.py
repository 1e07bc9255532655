"""The node daemon (``vault agent run``), its lock and state, service install and the demo."""
