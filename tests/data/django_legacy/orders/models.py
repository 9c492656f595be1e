import uuid

from django.conf import settings
from django.db import models


class Customer(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    name = models.CharField(max_length=80)
    email = models.EmailField(unique=True)


class Order(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="orders")
    number = models.CharField(max_length=20, unique=True)
    placed_at = models.DateTimeField()
    due = models.DateField()
    total = models.DecimalField(max_digits=12, decimal_places=2)
    uid = models.UUIDField(default=uuid.uuid4)


class Line(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    service = models.ForeignKey("market.Service", on_delete=models.PROTECT, related_name="lines")
    qty = models.PositiveIntegerField()
    price = models.DecimalField(max_digits=10, decimal_places=2)
