"""Staff money moves: who may take each (``authorize``) and the two-person approval of
those that need it (``approvals``)."""
