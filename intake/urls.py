"""URLs of the intake doors."""

from django.urls import path, re_path

from intake.doors import channel, pull, rest

urlpatterns = [
    path("api/v1/user-additional/", rest.PushView.as_view(), name="push"),
    path("api/v1/user-additional/decision/", pull.DecisionPullView.as_view(), name="decision-pull"),
    # The trailing slash is optional: APPEND_SLASH cannot redirect a POST, and
    # the protocol's clients are configured with either spelling.
    re_path(r"^channel/pushUserAdditionalInfo/?$", channel.push_user_additional_info, name="channel-push"),
    re_path(r"^channel/?$", channel.dispatch, name="channel"),
]
