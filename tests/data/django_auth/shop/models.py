"""An app's model, for Django's model permissions and the owner filter."""
from django.conf import settings
from django.db import models


class Order(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                              related_name="orders")
    title = models.CharField(max_length=100)
