from decimal import Decimal

from django.db import models


class Category(models.Model):
    name = models.CharField(max_length=50, unique=True)
    rate = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal("1.00"))


class Tag(models.Model):
    label = models.CharField(max_length=30)


class Service(models.Model):
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="services")
    name = models.CharField(max_length=100)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    details = models.JSONField(default=dict)
    starts_at = models.DateTimeField()
    active = models.BooleanField(default=True)
    note = models.TextField(null=True, blank=True)
    tags = models.ManyToManyField(Tag, related_name="services")

    class Meta:
        unique_together = [("category", "name")]
        constraints = [
            models.CheckConstraint(check=models.Q(price__gte=0), name="market_service_price_gte_0"),
        ]
