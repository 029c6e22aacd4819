from .algorithms import *  # noqa: F401,F403
