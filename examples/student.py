"""Student greeting, a handler: `greet(event, context)` returns the result.

Deployed with style `handler` and handler `student.greet`. The event is the
query (GET ?name=Ada&age=20&cgpa=3.9) or the JSON body (POST).
"""


def greet(event, context):
    name = str(event.get("name", "student")).strip() or "student"
    try:
        age = int(event.get("age", 0))
        cgpa = float(event.get("cgpa", 0))
    except (TypeError, ValueError):
        return {"error": "age must be a whole number and cgpa a number"}
    standing = "excellent" if cgpa >= 3.5 else "good" if cgpa >= 2.5 else "needs support"
    return {
        "greeting": f"Hello {name}! At {age} with a CGPA of {cgpa:.2f}, your standing is {standing}.",
        "name": name,
        "age": age,
        "cgpa": cgpa,
        "standing": standing,
    }
