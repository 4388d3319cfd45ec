"""A module that takes a while to import: what a fork server preloads for `test_udf_pool`."""

import time

time.sleep(3)
