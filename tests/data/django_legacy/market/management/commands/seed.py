"""manage.py seed [--orders N]: rows made through the ORM, as the monolith
would make them (users and tokens too)."""
import datetime
from decimal import Decimal

from django.contrib.auth.models import Group, Permission, User
from django.core.management.base import BaseCommand
from django.db import transaction
from rest_framework.authtoken.models import Token

from market.models import Category, Service, Tag
from orders.models import Customer, Line, Order

T0 = datetime.datetime(2024, 3, 1, 8, 30, 15, 123456, tzinfo=datetime.timezone.utc)


class Command(BaseCommand):
    help = "Create the test rows"

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=1000)

    @transaction.atomic
    def handle(self, *args, **opts):
        staff = Group.objects.create(name="staff")
        staff.permissions.add(*Permission.objects.filter(codename__startswith="view_"))
        users = []
        for i in range(3):
            u = User.objects.create_user("user%d" % i, "user%d@example.com" % i, "pw-%d" % i,
                                         first_name="Ünï %d" % i, is_staff=i == 0)
            u.groups.add(staff)
            u.user_permissions.add(*Permission.objects.filter(codename__startswith="add_")[: i + 1])
            Token.objects.create(user=u)
            users.append(u)
        cats = [Category.objects.create(name=n, rate=Decimal(r))
                for n, r in (("Catering", "1.25"), ("Cleaning", "0.50"), ("Care \"quoted\"", "3"))]
        tags = [Tag.objects.create(label=l) for l in ("green", "fast", "cheap", "new")]
        services = []
        for i in range(12):
            s = Service.objects.create(
                category=cats[i % 3], name="service %d" % i, price=Decimal("%d.%02d" % (i * 7, i)),
                details={"level": i, "tags": ["a", "b"][: i % 3], "nested": {"x": i / 4}},
                starts_at=T0 + datetime.timedelta(days=i, microseconds=i * 1000),
                active=i % 4 != 0, note=None if i % 2 else "note\n%d" % i)
            s.tags.set(tags[: i % 4])
            services.append(s)
        customers = [Customer.objects.create(user=users[i] if i < 3 else None, name="customer %d" % i,
                                             email="c%d@example.com" % i) for i in range(10)]
        for i in range(opts["orders"]):
            o = Order.objects.create(customer=customers[i % 10], number="N%05d" % i,
                                     placed_at=T0 + datetime.timedelta(hours=i, seconds=i),
                                     due=datetime.date(2024, 4, 1) + datetime.timedelta(days=i % 30),
                                     total=Decimal("%d.%02d" % (i, i % 100)))
            for k in range(i % 3 + 1):
                Line.objects.create(order=o, service=services[(i + k) % 12], qty=k + 1,
                                    price=services[(i + k) % 12].price)
