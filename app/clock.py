"""Time is a parameter: services take ``now``; this is the one place that reads the clock.

Times are stored as naive Beijing time (Asia/Shanghai has no DST), which is what officials read.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    return datetime.now(BEIJING).replace(tzinfo=None, microsecond=0)
