"""slaflow: what workflows, activities and entry points share.

Contracts (pydantic models), pure domain logic and settings. Nothing in this package does I/O at
import time or in its functions, so workflow code may import it inside Temporal's sandbox.
"""
