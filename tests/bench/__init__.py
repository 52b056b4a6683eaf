"""`make bench`: what the gate costs against bare Django, over HTTP and in process."""
