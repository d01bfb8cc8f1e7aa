from django.urls import path

from . import api

urlpatterns = [
    path("generations", api.JobListApi.as_view(), name="api-jobs"),
    path("generations/<str:job_id>", api.JobDetailApi.as_view(), name="api-job"),
    path("generations/<str:job_id>/cancel", api.JobCancelApi.as_view(), name="api-job-cancel"),
    path("generations/<str:job_id>/retry", api.JobRetryApi.as_view(), name="api-job-retry"),
]
