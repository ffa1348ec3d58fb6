from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("experiments", "0007_exclusion_groups"),
    ]

    operations = [
        migrations.AddField(
            model_name="participant",
            name="is_simulated",
            field=models.BooleanField(
                default=False,
                help_text="A simulated participant (the demo's crowd), never a person; set when it is created.",
            ),
        ),
    ]
