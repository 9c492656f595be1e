"""manage.py ormdump: what the ORM reads, as JSON, for comparison with what
Soom serves: every table's rows (values(), by primary key), and the orders
with their customer and lines (select_related / prefetch_related)."""
import datetime
import decimal
import json
import uuid

from django.apps import apps
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from django.core.management.base import BaseCommand

from orders.models import Order


def jsonable(v):
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, (datetime.datetime, datetime.date, datetime.time)):
        return v.isoformat()
    if isinstance(v, uuid.UUID):
        return str(v)
    return v


def row(values):
    return {k: jsonable(v) for k, v in values.items()}


class Command(BaseCommand):
    help = "Print the rows as the ORM reads them"

    def handle(self, *args, **opts):
        tables = {}
        for model in apps.get_models(include_auto_created=True):
            tables[model._meta.db_table] = [row(r) for r in model.objects.order_by("pk").values()]
        orders = []
        for o in Order.objects.select_related("customer").prefetch_related("lines").order_by("pk"):
            orders.append({
                "id": o.id, "number": o.number, "total": jsonable(o.total),
                "customer": {"id": o.customer.id, "name": o.customer.name},
                "lines": [{"id": l.id, "qty": l.qty, "price": jsonable(l.price)}
                          for l in sorted(o.lines.all(), key=lambda l: l.id)],
            })
        users = [{"id": u.id, "username": u.username,
                  "groups": [{"id": g.id, "name": g.name} for g in sorted(u.groups.all(), key=lambda g: g.id)]}
                 for u in User.objects.prefetch_related("groups").order_by("pk")]
        tokens = [{"key": t.key, "user": {"id": t.user.id, "username": t.user.username}}
                  for t in Token.objects.select_related("user").order_by("pk")]
        print(json.dumps({"tables": tables, "orders": orders, "users": users, "tokens": tokens}))
