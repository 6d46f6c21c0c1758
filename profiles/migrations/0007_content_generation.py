# The content generation kept in the database (issue 14, "One freshness rule"): one row,
# advanced with every save or delete of profile data; the page cache's keys carry it.

import secrets

from django.db import migrations, models


def create_the_row(apps, schema_editor):
    # A random start: a new database never reuses generations a shared cache (Redis, a
    # disk cache) may still hold pages under.
    apps.get_model("profiles", "ContentGeneration").objects.using(schema_editor.connection.alias).get_or_create(
        id=1, defaults={"value": secrets.randbits(48)}
    )


class Migration(migrations.Migration):

    dependencies = [
        ('profiles', '0006_lab_by_name_index'),
    ]

    operations = [
        migrations.CreateModel(
            name='ContentGeneration',
            fields=[
                ('id', models.PositiveSmallIntegerField(default=1, editable=False, primary_key=True, serialize=False)),
                ('value', models.BigIntegerField(verbose_name='generation')),
            ],
            options={
                'verbose_name': 'content generation',
                'constraints': [models.CheckConstraint(condition=models.Q(('id', 1)), name='content_generation_one_row')],
            },
        ),
        migrations.RunPython(create_the_row, migrations.RunPython.noop),
    ]
