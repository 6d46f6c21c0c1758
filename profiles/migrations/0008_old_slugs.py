# Old links keep working (issue 14): a changed slug is recorded (profiles/slug_history.py).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('profiles', '0007_content_generation'),
    ]

    operations = [
        migrations.CreateModel(
            name='OldSlug',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('object_id', models.PositiveBigIntegerField(verbose_name='object id')),
                ('slug', models.SlugField(max_length=120, verbose_name='old slug')),
                ('changed', models.DateTimeField(auto_now=True, verbose_name='changed at')),
                ('content_type', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='contenttypes.contenttype', verbose_name='kind of object')),
            ],
            options={
                'verbose_name': 'old slug',
                'ordering': ['-changed'],
                'indexes': [models.Index(fields=['content_type', 'object_id'], name='oldslug_target')],
                'constraints': [models.UniqueConstraint(fields=('content_type', 'slug'), name='oldslug_unique_per_kind')],
            },
        ),
    ]
